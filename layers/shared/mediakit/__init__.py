"""What every Mediaflow function shares, deployed as SharedLayer: the media errors the workflow
matches (`errors`), settings from the environment (`settings`), the object task and the two key
prefixes (`task`), versioned S3 reads (`object_reads`), derived files and how they are written
(`derived_files`), what Amazon Rekognition reads (`rekognition_input`), and the media types
accepted, which the HTTP API and Inspect's format registry share (`media_types`)."""
