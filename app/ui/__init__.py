"""The Qt workbench. The only package (with plugins/renderers) that imports Qt.

    signoff.ui.app           run_app(service), create_main_window(service), the excepthook
    signoff.ui.main_window   MainWindow: inbox | comparison (header, sample table) | detail,
                             assembled from its parts (its docstring lists them)
    signoff.ui.workers       run plain functions off the GUI thread (progress, cancel)
    signoff.ui.concurrent    SingleTask (one task per widget) and ReviewOps (writes, reviewChanged)
    signoff.ui.sample_model  the sample table's model over the comparison DataFrame
    signoff.ui.diff_view     side-by-side word diff, built from plain-text runs
    signoff.ui.approval_dialog  approve / request changes / reject with the policy's checklist

This __init__ imports nothing, so `signoff.ui.palette` (plain data) can be used
by non-Qt code such as the HTML report.
"""
