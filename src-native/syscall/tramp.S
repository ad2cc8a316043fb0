/* The re-issue trampoline (syscall/intr.h, rewind.cc).
 *
 * The suspend handler points the interrupted thread here, through rt_sigreturn, when a call must
 * be re-issued with arguments the application did not give (a shortened timeout, a translated
 * pid): rax = the call, rdi rsi rdx r10 r8 r9 = our arguments, rcx = its amber::intr::Entry, rsp =
 * the application's own. The trampoline steps over the application's red zone, keeps the entry
 * on the stack across the call (the `syscall` instruction clobbers rcx and r11), runs the call,
 * then puts the application's six argument registers back from the entry, frees it, and jumps to
 * where the application was (entry->rip) with the call's result in rax. rcx and r11 end up
 * holding other values than a plain `syscall` leaves there; the syscall ABI gives them no
 * meaning after the instruction.
 *
 * The handler recognises a call already in flight here by rip == amber_intr_tramp_sys (a call the
 * kernel is about to re-run) or amber_intr_tramp_ret (a call that returned), and finds the entry
 * at (%rsp). An entry with xlate set has its result taken to the application's ids first (2:).
 *
 * A continued transfer (entry->add != 0, rewind.cc) returns add + the call's count, or add alone
 * when the rest failed.
 *
 * Unwinding through it: the caller's frame is the application's, with its rsp 136 bytes above
 * ours and its rip in entry->rip (DW_CFA_expression: the return address is stored at
 * *(rsp) + 0), so debuggers and backtrace() see the application's call site. */
	.text
	.globl amber_intr_tramp
	.hidden amber_intr_tramp
	.globl amber_intr_tramp_sys
	.hidden amber_intr_tramp_sys
	.globl amber_intr_tramp_ret
	.hidden amber_intr_tramp_ret
	.type amber_intr_tramp, @function
amber_intr_tramp:
	.cfi_startproc
	.cfi_def_cfa %rsp, 0
	/* before the push the return address sits in the entry whose address is in rcx */
	.cfi_escape 0x10, 0x10, 0x02, 0x72, 0x00   /* DW_CFA_expression rip: breg2 (rcx) + 0 */
	leaq -128(%rsp), %rsp
	.cfi_def_cfa_offset 128
	pushq %rcx
	.cfi_def_cfa_offset 136
	/* rip saved at address *(rsp + 0): DW_OP_breg7 0, DW_OP_deref */
	.cfi_escape 0x10, 0x10, 0x03, 0x77, 0x00, 0x06
amber_intr_tramp_sys:
	syscall
amber_intr_tramp_ret:
	popq %rcx
	.cfi_def_cfa_offset 128
	.cfi_escape 0x10, 0x10, 0x02, 0x72, 0x00
	.cfi_remember_state
	cmpl $0, 60(%rcx)        /* entry->xlate */
	jne .Lxlate
.Lback:
	leaq 128(%rsp), %rsp
	.cfi_def_cfa_offset 0
	/* a continued transfer: the bytes moved before our signal cut it short are the program's
	   result too (a failure of the rest reports what did move) */
	movq 104(%rcx), %r11     /* entry->add */
	testq %r11, %r11
	jz .Lregs
	testq %rax, %rax
	js .Lfailed
	addq %r11, %rax
	jmp .Lregs
.Lfailed:
	movq %r11, %rax
.Lregs:
	movq 8(%rcx), %rdi
	movq 16(%rcx), %rsi
	movq 24(%rcx), %rdx
	movq 32(%rcx), %r10
	movq 40(%rcx), %r8
	movq 48(%rcx), %r9
	movq 0(%rcx), %r11
	/* free the entry last: another thread's handler may take it as soon as this store lands */
	movl $0, 56(%rcx)
	jmpq *%r11
.Lxlate:
	/* A wait4/waitid that did not come through the agent's wrappers (inside libc: system(),
	 * pclose(); a raw syscall): its result names this run's kernel pid, and amber_intr_result
	 * (rewind.cc) takes it to the application's. A C call still below the red zone, keeping every
	 * register a program may hold across a `syscall`: rbp pushed, the SSE state by fxsave (Go
	 * keeps a zero in X15), rbx and r12-r15 by the callee; rdi..r9 come back from the entry.
	 * (The unwind rule for rip reads rcx, which the call clobbers: a backtrace taken inside
	 * amber_intr_result stops here.) */
	.cfi_restore_state
	pushq %rbp
	.cfi_def_cfa_offset 136
	movq %rsp, %rbp
	.cfi_def_cfa_register %rbp
	subq $512, %rsp
	andq $-16, %rsp
	fxsave64 (%rsp)
	pushq %rcx
	pushq %rcx
	movq %rcx, %rdi
	movq %rax, %rsi
	call amber_intr_result
	popq %rcx
	popq %rcx
	fxrstor64 (%rsp)
	movq %rbp, %rsp
	.cfi_def_cfa_register %rsp
	popq %rbp
	.cfi_def_cfa_offset 128
	jmp .Lback
	.cfi_endproc
	.size amber_intr_tramp, .-amber_intr_tramp

	.section .note.GNU-stack,"",@progbits
