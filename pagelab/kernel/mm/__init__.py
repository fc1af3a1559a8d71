"""Memory management, kept apart from the rest of the kernel as Linux keeps mm/.

kalloc (frames and reference counts), vm (page tables, copyin/copyout), fault (the
page-fault handler) and vmstat (counters) live here; VMAs, the page cache, swap, the
reverse map and replacement policies join them.
"""
