"""The ideas pipeline: idea → research → paper → live → retired, moved through gates."""
