"""The simulated exchange: a seeded synthetic market and an account that matches orders."""
