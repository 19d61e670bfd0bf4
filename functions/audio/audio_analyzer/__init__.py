"""AudioFunction: measures a recording in blocks and draws its waveform."""
