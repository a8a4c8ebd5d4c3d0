# Hypothesis fuzzing (tests/test_fuzz.py, strategies in tests/fuzz/): the "fuzz" profile, thousands of
# random examples per property, with hypothesis' statistics. The normal test run uses the small,
# derandomized "ci" profile. Keep every failing example found as a test in tests/test_fuzz_regressions.py.
#
#   make fuzz                          about 3,000 examples per property (the AWS one: 375)
#   make fuzz FUZZ_ARGS="-k parse_json"  one property

FUZZ_ARGS ?=

.PHONY: fuzz

fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/test_fuzz.py -q -p no:cacheprovider \
		--hypothesis-show-statistics $(FUZZ_ARGS)
