# Headless Chromium for the HTML report tests (tests/test_report_html.py): Debian's `chromium` package,
# installed with apt-get when missing (as root, or with password-less sudo). No downloaded browsers.
#
#   make chromium          install it when missing (quick when it is there)

.PHONY: chromium

pytest: chromium

chromium:
	@sh tests/support/ensure_chromium.sh
