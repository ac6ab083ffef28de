#!/usr/bin/env python3
"""Benchmark: see ``webcam-blur bench --help`` (this script is the same command)."""

import sys

from webcam_blur.bench import main

sys.exit(main())
