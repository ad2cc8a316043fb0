/* amber_ctx_save(amber_ctx*): a setjmp that the restorer can return through.
 * Saves the callee-saved registers, the caller's stack pointer and return address, MXCSR and the
 * x87 control word (the only FP state the ABI keeps across calls) in the amber_ctx layout of
 * src-native/image/format.h. Returns 0; returns 1 when the restorer resumes the context
 * (restore/start.S: amber_ctx_restore). Everything else (the interrupted registers of the
 * application) sits in the kernel's signal frame on this thread's stack and comes back with
 * rt_sigreturn (PITFALLS 7). */
	.text
	.globl amber_ctx_save
	.hidden amber_ctx_save
	.type amber_ctx_save, @function
amber_ctx_save:
	movq %rbx, 0(%rdi)
	movq %rbp, 8(%rdi)
	movq %r12, 16(%rdi)
	movq %r13, 24(%rdi)
	movq %r14, 32(%rdi)
	movq %r15, 40(%rdi)
	leaq 8(%rsp), %rax
	movq %rax, 48(%rdi)
	movq (%rsp), %rax
	movq %rax, 56(%rdi)
	stmxcsr 64(%rdi)
	fnstcw 68(%rdi)
	xorl %eax, %eax
	ret
	.size amber_ctx_save, .-amber_ctx_save
	.section .note.GNU-stack,"",@progbits
