"""The credit bank: postings from attendance, reversals, recognition across schools, accounts."""
