"""CreateOrder under sustained load against a bare asyncpg baseline (see __main__)."""
