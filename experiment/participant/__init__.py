"""The participant side: pages (consent -> debrief), the runner's JSON API, media."""
