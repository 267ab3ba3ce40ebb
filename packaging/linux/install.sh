#!/usr/bin/env bash
# Install the one-folder build (dist/signoff) for one user or for everyone, with its
# desktop entry and icons, so that "Signoff" shows in the application menu.
#
#   bash packaging/linux/install.sh [--system] [DIST_DIR]      # default DIST_DIR: dist/signoff
#   bash packaging/linux/install.sh --uninstall [--system]
#
# Per user (default): ~/.local/opt/signoff, ~/.local/bin/signoff, ~/.local/share/{applications,icons}.
# --system (as root): /opt/signoff, /usr/local/bin/signoff, /usr/local/share/{applications,icons}.
# Git must be on PATH for `signoff request` (git source) and `signoff demo` (docs/packaging.md).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SYSTEM=0; UNINSTALL=0; DIST=""
for arg in "$@"; do
  case "$arg" in
    --system) SYSTEM=1 ;;
    --uninstall) UNINSTALL=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) DIST="$arg" ;;
  esac
done
DIST="${DIST:-$ROOT/dist/signoff}"

if [ "$SYSTEM" = 1 ]; then
  OPT=/opt/signoff; BIN=/usr/local/bin; SHARE=/usr/local/share
else
  OPT="$HOME/.local/opt/signoff"; BIN="$HOME/.local/bin"; SHARE="${XDG_DATA_HOME:-$HOME/.local/share}"
fi
ICONS="$SHARE/icons/hicolor"
SIZES=(16 24 32 48 64 128 256 512)

refresh() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$SHARE/applications" || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$ICONS" || true
}

if [ "$UNINSTALL" = 1 ]; then
  rm -rf "$OPT"
  rm -f "$BIN/signoff" "$SHARE/applications/signoff.desktop" "$ICONS/scalable/apps/signoff.svg"
  for s in "${SIZES[@]}"; do rm -f "$ICONS/${s}x${s}/apps/signoff.png"; done
  refresh
  echo "install: removed Signoff from $OPT"
  exit 0
fi

[ -x "$DIST/signoff" ] || { echo "install: no build at $DIST (run 'make package' first)" >&2; exit 1; }
ICON_SRC="$DIST/_internal/resources/icons"
[ -d "$ICON_SRC" ] || ICON_SRC="$ROOT/resources/icons"

rm -rf "$OPT.new"
mkdir -p "$(dirname "$OPT")" "$BIN" "$SHARE/applications" "$ICONS/scalable/apps"
cp -a "$DIST" "$OPT.new"
rm -rf "$OPT"
mv "$OPT.new" "$OPT"
ln -sf "$OPT/signoff" "$BIN/signoff"
# Exec with the full path: the menu works even when $BIN is not on the session's PATH.
sed -e "s|^Exec=signoff|Exec=$OPT/signoff|" -e "s|^TryExec=signoff|TryExec=$OPT/signoff|" \
  "$HERE/signoff.desktop" >"$SHARE/applications/signoff.desktop"
cp "$ICON_SRC/signoff.svg" "$ICONS/scalable/apps/signoff.svg"
for s in "${SIZES[@]}"; do
  mkdir -p "$ICONS/${s}x${s}/apps"
  cp "$ICON_SRC/signoff-$s.png" "$ICONS/${s}x${s}/apps/signoff.png"
done
refresh
command -v git >/dev/null 2>&1 || echo "install: note: git is not on PATH; 'signoff demo' and 'signoff request' need it" >&2
echo "install: Signoff $("$OPT/signoff" --version 2>/dev/null | cut -d' ' -f2) in $OPT; command: $BIN/signoff; menu entry: $SHARE/applications/signoff.desktop"
