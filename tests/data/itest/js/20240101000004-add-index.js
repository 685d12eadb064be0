'use strict';
module.exports = {
  up: async (queryInterface) => {
    await queryInterface.addIndex('Users', ['email', 'username']);
  },
  down: async (queryInterface) => {
    await queryInterface.removeIndex('Users', ['email', 'username']);
  }
};
