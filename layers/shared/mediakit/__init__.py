"""What every Mediaflow function shares, deployed as SharedLayer: the media errors the workflow
matches, settings from the environment, the object task and its S3 reads and writes."""
