"`python -m birdclf …`: the `birdclf` command, as torchrun starts it in each process (`-m birdclf train …`)."
import sys

from .cli import main

if __name__ == '__main__': sys.exit(main())
