"""Numeric series: windows, model, the `SeriesAE` facade and its bundle. Never imports textae.text."""
