"""``python -m sandbox``: run the platform simulators (see ``sandbox.app.main``)."""

from sandbox.app import main

if __name__ == "__main__":
    main()
