/* vfork, the application's own (agent/exec.cc says why): a plain vfork until a restart, then
 * the agent's fork wrapper. Written here because vfork cannot be wrapped by a C function: its
 * child returns through the caller's stack, which a frame of ours would leave clobbered for the
 * parent. So no frame stays: a call to ask which, then a tail jump with the stack exactly as the
 * caller left it (glibc's vfork takes its return address off the stack itself). */
	.text
	.globl vfork
	.type vfork, @function
vfork:
	subq $8, %rsp               /* the call below needs the stack 16-aligned */
	call amber_vfork_as_fork
	addq $8, %rsp
	testl %eax, %eax
	jnz 1f
	movq amber_vfork_real(%rip), %rax
	testq %rax, %rax
	jz 1f
	jmp *%rax
1:	jmp fork@PLT
	.size vfork, .-vfork
	.section .note.GNU-stack,"",@progbits
