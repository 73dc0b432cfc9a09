"""The shared database fixture gives a working, empty database on each backend."""

import sqlalchemy as sa


def test_database_url_is_empty_and_writable(database_url):
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            assert sa.inspect(connection).get_table_names() == []
            connection.execute(sa.text("create table probe (x integer)"))
            connection.execute(sa.text("insert into probe values (1)"))
            assert connection.execute(sa.text("select sum(x) from probe")).scalar() == 1
            connection.execute(sa.text("drop table probe"))
    finally:
        engine.dispose()
