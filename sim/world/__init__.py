"""The world model: users as columns, their attributes and daily behaviour, chat groups, contact
pressure, lifecycle stages and the action vocabulary strategies use to act on them."""
