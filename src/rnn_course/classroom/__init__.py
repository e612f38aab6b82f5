"""Classroom tooling: student editions, offline grading, lecture slides, the course website, run times.

Nothing in the learning modules imports this package; the ``rnn-course`` commands in
:mod:`rnn_course.cli.classroom` call it.
"""
