"""Real clients in other languages and libraries, run against the fake over real HTTP."""
