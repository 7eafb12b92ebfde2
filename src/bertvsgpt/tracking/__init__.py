"""MLflow tracking of every stage run."""

from .run import RESUMED, TrackingError, check_reachable, data_checksum, git_commit, lightning_logger, stage_run, tracking_uri

__all__ = ["RESUMED", "TrackingError", "check_reachable", "data_checksum", "git_commit", "lightning_logger", "stage_run", "tracking_uri"]
