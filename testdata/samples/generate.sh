#!/usr/bin/env bash
# Regenerates the sample files of the README's quick start from src/: two screenshots of a
# small settings page and a short PDF guide rendered by headless Chromium, and a 4-second
# screen recording of the two screens made by ffmpeg. Needs chromium and ffmpeg (Debian
# packages); the committed files are what the quick start and the tests use, so running
# this is only needed to change them.
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
chrome=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1)
"${chrome[@]}" --window-size=640,400 --screenshot="$out/screen1.png" "file://$PWD/src/screen1.html"
"${chrome[@]}" --window-size=640,400 --screenshot="$out/screen2.png" "file://$PWD/src/screen2.html"
"${chrome[@]}" --no-pdf-header-footer --print-to-pdf="$PWD/guide.pdf" "file://$PWD/src/manual.html"
cp "$out/screen1.png" screenshot.png
# Two scenes of two seconds each, as a screen recording would show them: H.264 in MP4 with
# the index first, so that browsers play it while it downloads.
ffmpeg -v error -y -loop 1 -t 2 -framerate 5 -i "$out/screen1.png" -loop 1 -t 2 -framerate 5 -i "$out/screen2.png" \
  -filter_complex '[0:v][1:v]concat=n=2:v=1,scale=320:-2,format=yuv420p' \
  -c:v libx264 -preset veryslow -crf 30 -r 5 -movflags +faststart -metadata title="Acme Web: saving settings" \
  recording.mp4
ls -l screenshot.png guide.pdf recording.mp4
