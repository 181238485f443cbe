"""The harness: what tests steer and read (journal, faults, rate limit, state files)."""
