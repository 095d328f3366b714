"""Sites over real time: a gateway's capacity schedule, meter readings, the replanning schedule."""
