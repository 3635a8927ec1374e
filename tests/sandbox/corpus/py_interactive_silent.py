# Waits for the judge to speak first, but the judge waits for a guess: neither moves.
input()
