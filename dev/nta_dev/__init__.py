"""Developer toolkit for the NTA stack (invoke task logic lives here)."""
