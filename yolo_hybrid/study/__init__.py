"""What a block buys: the accuracy study, ``python -m yolo_hybrid.study``.

Trains each model of one or more sets (stock ``yolov8n`` and its BoT3, CoT, SMT and CMT forms; the same for YOLO11
and YOLO26) from scratch with Ultralytics' default recipe, once per seed, on a real dataset, and reports each
model's mAP beside its stock base: mean ± sd over seeds, the paired difference per seed with its 95 % t interval,
and a verdict read from that interval. Every run is resumable and recorded the moment it finishes.

* :mod:`~yolo_hybrid.study.stats`: the seed statistics (spread, paired interval, verdict).
* :mod:`~yolo_hybrid.study.runner`: one run (train or resume, then evaluate on val and test), in its own process.
* :mod:`~yolo_hybrid.study.schedule`: the plan, the record, the loop with its progress bar.
* :mod:`~yolo_hybrid.study.report`: the summary, the schema check, the Markdown table and the plot.
"""
