/*
 * debugport: copies its standard input to the x86 I/O port 0xe9, one `outb` per byte — what a
 * guest writes there is the guest debug output Xen prints in `xl dmesg`. Linux x86-64, static,
 * no libc: ioperm(0xe9, 1, 1), then read(0, &b, 1) / outb until end of input. Exit 0, or 1 when
 * the port cannot be had (not root). Built by build.sh into the test guest's /bin.
 */
        .globl _start
        .text
_start:
        mov     $173, %eax              /* ioperm */
        mov     $0xe9, %edi
        mov     $1, %esi
        mov     $1, %edx
        syscall
        test    %rax, %rax
        jnz     fail
next:
        xor     %eax, %eax              /* read */
        xor     %edi, %edi
        lea     byte(%rip), %rsi
        mov     $1, %edx
        syscall
        cmp     $1, %rax
        jne     done
        movb    byte(%rip), %al
        mov     $0xe9, %dx
        outb    %al, %dx
        jmp     next
done:
        mov     $60, %eax               /* exit(0) */
        xor     %edi, %edi
        syscall
fail:
        mov     $60, %eax               /* exit(1) */
        mov     $1, %edi
        syscall

        .bss
byte:   .skip   1
