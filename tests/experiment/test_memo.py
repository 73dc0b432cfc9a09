"""The bounded memo behind the process's plan, onset and media shortcuts."""

from experiment.memo import BoundedMemo


def test_a_full_memo_starts_over_with_the_new_entry():
    memo: BoundedMemo[str, int] = BoundedMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert (memo.get("a"), memo.get("b"), len(memo)) == (1, 2, 2)
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c"), len(memo)) == (None, None, 3, 1)


def test_a_key_is_replaced_and_popped_without_error_when_missing():
    memo: BoundedMemo[str, int] = BoundedMemo(5)
    memo.put("a", 1)
    memo.put("a", 2)
    assert memo.get("a") == 2
    memo.pop("a")
    memo.pop("a")
    assert memo.get("a") is None and len(memo) == 0
