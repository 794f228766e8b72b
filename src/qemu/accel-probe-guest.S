# The accelerator probe's guest: a 64 KiB BIOS image (QEMU `-bios`) that goes from the reset
# vector straight to 64-bit long mode and reports through isa-debug-exit (iobase 0xf4), which
# makes QEMU exit with status (0x2a << 1) | 1 = 85. A nested KVM that cannot run ordinary guest
# kernels (shared/notes/machine.md) hangs at the switch to long mode; TCG does it in ~70 ms.
#
# accel.ts embeds the assembled bytes (PROBE_CODE, PROBE_RESET); accel.test.ts checks they match
# this file when GNU as and ld are present. Assemble:
#   as --64 -o probe.o accel-probe-guest.S && ld -Ttext=0xf0000 --oformat=binary -e 0xf0000 -o probe.bin probe.o
# Layout: code at offset 0 (linear 0xf0000), far jump at 0xfff0 (the reset vector), 0xf4 (hlt) fill.
	.code16
	.text
start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0x7000, %sp
	# Page tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD): the first 2 MiB identity-mapped.
	movw $0x1000, %di
	movw $0x1800, %cx
	cld
	rep stosw
	movl $0x2003, 0x1000
	movl $0x3003, 0x2000
	movl $0x0083, 0x3000
	lgdtl %cs:(gdtr - 0xf0000)
	movl %cr4, %eax
	orl $0x20, %eax            # PAE
	movl %eax, %cr4
	movl $0x1000, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx     # EFER
	rdmsr
	orl $0x100, %eax           # LME
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax      # PG | PE
	movl %eax, %cr0
	ljmpl $0x08, $long_mode
	.code64
long_mode:
	movb $0x2a, %al
	outb %al, $0xf4
1:	hlt
	jmp 1b
	.p2align 3
gdt:
	.quad 0
	.quad 0x00af9a000000ffff   # 0x08: 64-bit code
	.quad 0x00cf92000000ffff   # 0x10: data
gdtr:
	.word gdtr - gdt - 1
	.long gdt
	.org 0xfff0
	.code16
	ljmp $0xf000, $(start - 0xf0000)
	.org 0x10000, 0xf4
