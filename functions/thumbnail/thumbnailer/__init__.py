"""ThumbnailFunction: thumbnails, and JPEG renditions that Amazon Rekognition reads."""
