"""The charts there are, by id, with their titles: plain data, so the window
can list them without importing plotly (that waits for the first chart)."""

CHART_TITLES: dict[str, str] = {
    "metric_deltas": "Metric deltas",
    "classes_per_slice": "Change classes per slice",
    "confusion_change": "Confusion-matrix change",
    "score_distributions": "Score distributions",
    "review_progress": "Review progress",
    "agreement": "Reviewer agreement",
    "regression_bound": "Regression-rate bound",
    "inspection_trend": "Production error rate (inspections)",
}

