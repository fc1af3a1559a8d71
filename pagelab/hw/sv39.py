"""The Sv39 page-table format, as in the RISC-V privileged spec (section 4.4)."""

PGSIZE = 4096
PGSHIFT = 12

# PTE bits (low 10 bits of a 64-bit entry).
PTE_V = 1 << 0  # valid
PTE_R = 1 << 1
PTE_W = 1 << 2
PTE_X = 1 << 3
PTE_U = 1 << 4  # user may access
PTE_G = 1 << 5
PTE_A = 1 << 6  # accessed: set by the walker on any access
PTE_D = 1 << 7  # dirty: set by the walker on a store
PTE_RSW0 = 1 << 8  # two bits reserved for the supervisor (software)
PTE_RSW1 = 1 << 9
PTE_FLAGS = 0x3FF

# One past the highest user address. Like xv6, use one bit less than Sv39 allows,
# so that no address needs sign extension.
MAXVA = 1 << (9 + 9 + 9 + 12 - 1)

# satp MODE field value for Sv39.
SATP_SV39 = 8 << 60

# scause values for the three page-fault kinds.
SCAUSE_INST_PAGE_FAULT = 12
SCAUSE_LOAD_PAGE_FAULT = 13
SCAUSE_STORE_PAGE_FAULT = 15


def pgroundup(a: int) -> int:
    return (a + PGSIZE - 1) & ~(PGSIZE - 1)


def pgrounddown(a: int) -> int:
    return a & ~(PGSIZE - 1)


def px(level: int, va: int) -> int:
    """The 9-bit index of va into the page-table page at `level` (2 = root)."""
    return (va >> (PGSHIFT + 9 * level)) & 0x1FF


def pte2pa(pte: int) -> int:
    return (pte >> 10) << 12


def pa2pte(pa: int) -> int:
    return (pa >> 12) << 10


def pte_flags(pte: int) -> int:
    return pte & PTE_FLAGS


def make_satp(root_pa: int) -> int:
    return SATP_SV39 | (root_pa >> PGSHIFT)
