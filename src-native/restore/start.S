/* The restorer's entry and the few things C cannot express: taking over a stack, returning
 * into a context saved by the agent (agent/ctx.S), and starting a thread on a given stack. */
	.text

/* Process entry: the kernel leaves argc at (%rsp). */
	.globl amber_start
	.type amber_start, @function
amber_start:
	xorl %ebp, %ebp
	movq %rsp, %rdi
	andq $-16, %rsp
	call restorer_main
	hlt
	.size amber_start, .-amber_start

/* [[noreturn]] void amber_ctx_restore(const amber_ctx*): resume a context taken by
 * amber_ctx_save, which then returns 1. */
	.globl amber_ctx_restore
	.hidden amber_ctx_restore
	.type amber_ctx_restore, @function
amber_ctx_restore:
	ldmxcsr 64(%rdi)
	fldcw 68(%rdi)
	movq 0(%rdi), %rbx
	movq 8(%rdi), %rbp
	movq 16(%rdi), %r12
	movq 24(%rdi), %r13
	movq 32(%rdi), %r14
	movq 40(%rdi), %r15
	movq 48(%rdi), %rsp
	movl $1, %eax
	jmp *56(%rdi)
	.size amber_ctx_restore, .-amber_ctx_restore

/* [[noreturn]] void amber_switch_stack(void* sp, void (*fn)(void*), void* arg) */
	.globl amber_switch_stack
	.hidden amber_switch_stack
	.type amber_switch_stack, @function
amber_switch_stack:
	movq %rdi, %rsp
	andq $-16, %rsp
	xorl %ebp, %ebp
	movq %rdx, %rdi
	call *%rsi
	hlt
	.size amber_switch_stack, .-amber_switch_stack

/* long amber_clone_thread(unsigned long flags, void* stack, int* ptid, int* ctid,
 *                         unsigned long tls, void (*fn)(void*), void* arg)
 * The child starts on `stack` and calls fn(arg), which never returns. */
	.globl amber_clone_thread
	.hidden amber_clone_thread
	.type amber_clone_thread, @function
amber_clone_thread:
	movq 8(%rsp), %rax          /* arg */
	andq $-16, %rsi
	subq $16, %rsi
	movq %r9, 0(%rsi)           /* fn */
	movq %rax, 8(%rsi)          /* arg */
	movq %rcx, %r10             /* ctid: 4th syscall argument */
	movl $56, %eax              /* SYS_clone(flags, stack, ptid, ctid, tls) */
	syscall
	testq %rax, %rax
	jnz 1f
	xorl %ebp, %ebp             /* child */
	popq %rax
	popq %rdi
	subq $8, %rsp               /* keep the ABI's 16-byte alignment at the call */
	andq $-16, %rsp
	call *%rax
	hlt
1:	ret
	.size amber_clone_thread, .-amber_clone_thread

	.section .note.GNU-stack,"",@progbits
