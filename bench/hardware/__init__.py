"""What the machine is and what it can do, without a framework in the parent: devices (NVML),
the NVML seam, a child's device environment, spec-sheet peaks, calibration, MFU, fingerprint.
"""
