(no program)
