"""Overrides PyInstaller's hook for PySide6.QtQml (hooks in packaging/hooks take precedence).

Signoff's window is QtWidgets; QtQml comes in only because libQt6WebEngineCore links
libQt6Qml and libQt6Quick. The stock hook also collects every QML plugin in PySide6
(Qt Quick 3D, Charts, Location, Wayland compositor, ...), and through them about 130 MB
of Qt libraries that nothing here loads. This one keeps the module and its libraries
and leaves the QML plugins out. QtWebEngineWidgets renders without them (the bundle
test renders a plotly chart).
"""

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
