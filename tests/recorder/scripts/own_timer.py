"""A program with its own SIGPROF handler and ITIMER_PROF, and a SIGALRM handler that it
never arms: it prints how many signals of each kind it got."""
import signal
import time

ticks = 0
stray = 0


def on_prof(signum, frame):
    global ticks
    ticks += 1


def on_alarm(signum, frame):
    global stray
    stray += 1


def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


signal.signal(signal.SIGPROF, on_prof)
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_PROF, 0.01, 0.01)
spin(0.5)
signal.setitimer(signal.ITIMER_PROF, 0, 0)
time.sleep(0.05)
print(f"ticks={ticks} stray={stray}")
