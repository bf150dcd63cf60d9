"""The camera runtime, run by the `streams` Celery workers: the per-camera runner and its frame
path (readers, engine, sinks, recorder), leases and fencing, file progress, stream slots and
the runtime tunables. The pages and API of the cameras app only read its state."""
