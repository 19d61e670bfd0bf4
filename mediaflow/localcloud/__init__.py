"""The embedded local cloud: Mediaflow's SAM application on an AWS emulator, on this machine."""

from mediaflow.localcloud.cloud import LocalCloud, LocalCloudError

__all__ = ["LocalCloud", "LocalCloudError"]
