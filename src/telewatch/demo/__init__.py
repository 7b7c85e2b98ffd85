"""``telewatch demo``: the bundled fictional scenario run through the emulator, the
real daemon and the dashboard (see ``runner``)."""
