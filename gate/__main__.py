from gate.cli import main

# Guarded so worker processes started with "spawn" can import this module without running the CLI.
if __name__ == "__main__":
    main()
