"""The digital twin: import a real user base, fit the behaviour model to it, forecast, backtest."""
