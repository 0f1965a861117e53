"""What a grading produces for people: feedback reports, curves, class report, gradebook, LMS files, JUnit."""
