# Waits for the judge to speak first; the judge waits for a guess.
input()
