.PHONY: run test setup bench
run: setup
	.venv/bin/callcenter run
test:
	bash scripts/test.sh
setup:
	bash scripts/setup.sh
bench: setup
	.venv/bin/python bench/ami_ingest.py
	.venv/bin/python bench/caller_id_lookup.py
	.venv/bin/python bench/customer_card.py
	.venv/bin/python bench/csv_import.py
	.venv/bin/python bench/ivr_load.py
	.venv/bin/python bench/acd_decision.py
	.venv/bin/python bench/acd_simulate.py
	.venv/bin/python bench/acd_ring_latency.py
	.venv/bin/python bench/screen_pop.py
	.venv/bin/python bench/recording_finalise.py
	.venv/bin/python bench/recording_storage.py
	.venv/bin/python bench/transcription_rtf.py
