"""System-call personalities (ABIs) over one kernel.

Each ABI package holds what differs between operating systems as a program sees them:
system-call numbers, argument decoding, structure layouts (stat, dirent, flags) and the
error convention. The work itself is done by the shared kernel services (proc, file, fs,
pipe, exec and mm/), which never know which ABI a process speaks.
"""
