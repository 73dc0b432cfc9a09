"""The researcher side's forms (Flask-WTF: every one carries and checks a CSRF token).

Forms only check the shape of the input (required, ranges, lengths); whether a study can
be built from it (the stimulus set has the chosen encodings, ...) is the service's job,
whose :class:`GlyphlabError` the view shows on the re-rendered form.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)

from analysis.response_modes import DEFAULT_MODE, RESPONSE_MODES
from experiment.services.studies import DEFAULT_CONSENT, DEFAULT_DEBRIEF
from experiment.texts import MAX_TEXT_CHARS, all_texts
from stimuli.encodings import ENCODINGS

#: every registered encoding and response mode, as the plugins label themselves
ENCODING_CHOICES = [SelectChoice(name, f"{cls.label} ({name})") for name, cls in ENCODINGS.items()]
LAYOUT_CHOICES = [
    SelectChoice("grid", "Grid: all rows at once"),
    SelectChoice("sequence", "Sequence: one row per frame"),
]
RESPONSE_MODE_CHOICES = [SelectChoice(name, mode.label) for name, mode in RESPONSE_MODES.items()]


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes (readable and keyboard friendly, unlike a multi-select box)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class LoginForm(FlaskForm):
    email = StringField(
        _l("E-mail"),
        validators=[InputRequired(), Length(max=254)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class StimulusSetForm(FlaskForm):
    folder = StringField(
        "Stimulus set folder",
        validators=[InputRequired(), Length(max=1000)],
        description="A folder inside the site's data folder that holds manifest.json, "
        "e.g. stimuli/3f9a0c1d2e4b",
    )
    submit = SubmitField("Register stimulus set")


def _choose_one(message: str):
    """Like InputRequired for a checkbox group, without marking every box ``required``."""

    def check(form: FlaskForm, field: SelectMultipleField) -> None:
        if not field.data:
            raise StopValidation(message)

    return check


def _http_url(form: FlaskForm, field: StringField) -> None:
    if field.data:
        parts = urlsplit(field.data)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError("Enter a full http:// or https:// address.")


class StudyForm(FlaskForm):
    title = StringField("Study title", validators=[InputRequired(), Length(max=200)])
    slug = StringField(
        "Short address (optional)",
        validators=[
            Optional(),
            Regexp(
                r"^[a-z0-9][a-z0-9-]{2,63}$",
                message="Use 3-64 lowercase letters, digits and dashes.",
            ),
        ],
        description="Participants enter at /s/<short address>; made from the title if empty.",
    )
    stimulus_set = SelectField("Stimulus set", validators=[InputRequired()])
    encodings = MultiCheckboxField(
        "Encodings",
        choices=ENCODING_CHOICES,
        default=[],
        description="None ticked: every encoding the chosen stimulus set has.",
    )
    layouts = MultiCheckboxField(
        "Layouts",
        choices=LAYOUT_CHOICES,
        default=["grid"],
        validators=[_choose_one("Choose a layout.")],
    )
    response_modes = MultiCheckboxField(
        "Response modes",
        choices=RESPONSE_MODE_CHOICES,
        default=[DEFAULT_MODE],
        validators=[_choose_one("Choose a response mode.")],
    )
    trials_per_participant = IntegerField(
        "Main trials per participant",
        default=16,
        validators=[InputRequired(), NumberRange(1, 1000)],
    )
    practice_trials = IntegerField(
        "Practice trials", default=2, validators=[InputRequired(), NumberRange(0, 50)]
    )
    attention_checks = IntegerField(
        "Attention checks", default=2, validators=[InputRequired(), NumberRange(0, 50)]
    )
    deadline_ms = IntegerField(
        "Deadline per trial (ms)",
        default=15000,
        validators=[InputRequired(), NumberRange(200, 600_000)],
    )
    frame_ms = IntegerField(
        "Frame duration for sequences (ms)",
        default=500,
        validators=[InputRequired(), NumberRange(16, 10_000)],
    )
    fixation_ms = IntegerField(
        "Fixation between trials (ms)",
        default=500,
        validators=[Optional(), NumberRange(0, 5000)],
        description="A fixation cross before each screen; the next screen loads meanwhile, "
        "so it appears on time. 0: none (the next screen appears once it has loaded).",
    )
    target_present_percent = IntegerField(
        "Target-present trials (%)",
        default=50,
        validators=[InputRequired(), NumberRange(1, 100)],
        description="In modes that ask whether an outlier is there (yes/no, key press): "
        "the share of main trials that have one; the rest have none.",
    )
    expected_minutes = IntegerField(
        "Expected duration (minutes)",
        default=10,
        validators=[InputRequired(), NumberRange(1, 600)],
    )
    abandon_after_minutes = IntegerField(
        "Free an unfinished place after (minutes)",
        validators=[Optional(), NumberRange(1, 10_000)],
        description="A participant who has not finished this long after consenting "
        "gives their counterbalancing row to the next one; default: twice the expected "
        "duration.",
    )
    min_viewport_width = IntegerField(
        "Smallest window width (px)",
        default=1000,
        validators=[InputRequired(), NumberRange(200, 7680)],
        description="Participants with a smaller browser window are asked to enlarge it.",
    )
    min_viewport_height = IntegerField(
        "Smallest window height (px)",
        default=600,
        validators=[InputRequired(), NumberRange(200, 4320)],
    )
    allow_phones = BooleanField(
        "Phones may take part",
        description="Otherwise a phone gets a polite page saying the study needs a larger screen.",
    )
    consent_text = TextAreaField(
        "Consent text (Markdown)",
        default=DEFAULT_CONSENT,
        validators=[InputRequired(), Length(max=20_000)],
        render_kw={"rows": 5},
    )
    debrief_text = TextAreaField(
        "Debrief text (Markdown)",
        default=DEFAULT_DEBRIEF,
        validators=[InputRequired(), Length(max=20_000)],
        render_kw={"rows": 3},
    )
    completion_code = StringField(
        "Completion code",
        validators=[
            Optional(),
            Length(max=64),
            Regexp(r"^[A-Za-z0-9_-]+$", message="Use letters, digits, - and _ only."),
        ],
        description="Shown to participants at the end (e.g. Prolific's code).",
    )
    completion_url = StringField(
        "Completion URL",
        validators=[Optional(), Length(max=2000), _http_url],
        description="Participants are sent here at the end instead.",
    )
    min_answered_trials = IntegerField(
        "Answered trials needed",
        validators=[Optional(), NumberRange(0, 1000)],
        description=(
            "Main trials a participant must answer in time to get the completion code "
            "and URL. Empty: half of the main trials."
        ),
    )
    submit = SubmitField("Create study")

    def text_fields(self) -> list:
        """The participant-text fields, in :data:`experiment.texts.TEXTS` order."""
        return [self[text_field_name(key)] for key in all_texts()]

    def text_overrides(self) -> dict[str, str]:
        return {key: self[text_field_name(key)].data or "" for key in all_texts()}


def text_field_name(key: str) -> str:
    return "text__" + key.replace(".", "__")


def _add_text_fields(form: type[StudyForm]) -> None:
    """One optional field per participant text; empty keeps the (translated) default,
    which the field shows as its placeholder."""
    for key, text in all_texts().items():
        field = TextAreaField(
            text.label,
            validators=[Optional(), Length(max=MAX_TEXT_CHARS)],
            render_kw={"rows": 4 if text.markdown else 1, "placeholder": text.default},
        )
        setattr(form, text_field_name(key), field)


_add_text_fields(StudyForm)
