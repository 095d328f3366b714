"""Charge plans: computed per gateway from charging information, limits and prices; stored."""
